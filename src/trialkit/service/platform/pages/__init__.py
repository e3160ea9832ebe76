"""What every page shares (dependencies, error pages, rendering, labels, clock), the
templates, and the platform's own pages (login, home)."""
