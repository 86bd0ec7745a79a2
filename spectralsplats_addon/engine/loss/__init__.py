"""Losses and their schedule: spectral moments, spatial L1/L2 + D-SSIM, the band and
phase schedule, the multi-resolution pyramid, PSNR/SSIM."""
