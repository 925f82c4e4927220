"""The MobileNet family (V2 and V3): inverted residuals, and torchvision's MobileNetV2 and MobileNetV3."""
