"""`make bench`: the performance benchmark of PRODUCT.md section 9 (see bench/README.md)."""
