"""What every API route shares (dependencies, errors, permissions, schemas), and the
platform's own routes (health, audit trail)."""
