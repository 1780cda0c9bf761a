# FGVC-Aircraft, 100 variants (MMPretrain's FGVCAircraft dataset) with the
# ImageNet augmentation and batch 64 of transfer_bs64.py.
# Splits (the paper does not say which): train + val (6,667 images) for
# training, test (3,333) for testing.
_base_ = './transfer_bs64.py'

dataset_type = 'FGVCAircraft'
data_root = 'data/fgvc-aircraft-2013b'
data_preprocessor = dict(num_classes=100)
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='trainval'))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
