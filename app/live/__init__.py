"""Live sessions (online or classroom), attendance and the personal calendar feed."""
