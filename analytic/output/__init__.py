"""The top layer below the command line: axes-level plotting, figure assembly and saving, the report and
tables."""
