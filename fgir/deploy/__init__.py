"""Deployment tools over a trained model: ``fgir quantize`` (post-training int8 with bias correction, an
accuracy budget and mixed precision).  Sits above training (it measures accuracy) and below search."""
