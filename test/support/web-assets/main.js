// placeholder: the real bundle is built by buildWebAssets
