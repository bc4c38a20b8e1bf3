"""The bottom layer: conventions every other layer shares (dimension letters, weight names).
Imports nothing from the rest of the library."""
