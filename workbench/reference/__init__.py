"""Reference ("oracle") runners built on the real upstream packages, used by the parity tests."""
