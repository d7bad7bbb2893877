"""Global autograd switches read on hot paths (plain lists: no call, no attribute chain)."""

FORWARD_AD = [0]  # nesting level of forward-mode AD (cr.func.jvp); 0 = off
ANOMALY = [False]  # NaN/Inf anomaly detection (cr.autograd.detect_anomaly)
