"""The DenseNet family: dense layers, dense blocks, transitions, and DenseNet-121/161/169/201."""
