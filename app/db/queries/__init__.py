"""Query modules: named async functions with their SQL, each taking a connection."""
