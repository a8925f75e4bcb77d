"""Plan and channel files: loading, the format, and the rules a good plan follows."""
