"""What a run measured: mergeable metrics and histograms, the crowd's shape, thresholds, reports."""
