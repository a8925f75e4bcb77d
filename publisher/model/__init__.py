"""The published model: a plans folder, its reference data and its history, as what the
public sees."""
