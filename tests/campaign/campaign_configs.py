"""Campaign files shared by the campaign tests (a 16x16 memory target, two fault points, two plans)."""

MEMORY_TOML = """
[campaign]
name = "t"
kind = "memory"
seed = 7
trials = {trials}
batch_trials = {batch}

[memory]
shape = [16, 16]
bits = 8

[faults]
p_flip = [0.02, 0.1]
r = 0.5

[[plans]]
strategy = "uniform"
protect_msb = [0, 2]
"""

# the same campaign with adaptive stopping; `cap` is the trial cap per task
ADAPTIVE_TOML = MEMORY_TOML.replace("{trials}", "{cap}") + """
[stopping]
target = 0.245    # the (p = 0.02, m = 0) task's mean is about 0.245: undecided for long; the others at once
"""
