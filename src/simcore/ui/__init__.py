"""What a person sees and types: the command line and the terminal dashboard."""
