"""The finite kind: only finite numbers out (no nan, no inf), on inputs where a naive formula overflows."""
