"""`make bench`: the product's speed against baselines measured in the same run."""
