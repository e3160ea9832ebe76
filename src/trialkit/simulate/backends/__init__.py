"""Simulation backends: one module per backend, found by :mod:`.registry`.

* ``numba`` - the per-trial kernel (:mod:`trialkit.simulate.trial`) compiled for the CPU
* ``cuda`` - the same kernel compiled for an NVIDIA GPU, one thread per trial
* ``numpy`` - the vectorised numpy reference (:mod:`trialkit.simulate.kernels`)
"""
