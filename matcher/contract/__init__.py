"""The data contract: record specs, column rules, identifiers, reading files, imports with rejects."""
