"""Tracking: fit the deformation to video (sequence), the objective of one step (step), the
whole-asset rigid tracker and first-frame alignment (rigid, align), tracking through a proxy
(proxy)."""
