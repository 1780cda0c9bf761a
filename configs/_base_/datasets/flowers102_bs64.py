# Oxford Flowers-102 (MMPretrain's Flowers102 dataset) with the ImageNet
# augmentation and batch 64 of transfer_bs64.py.
# Splits (the paper does not say which): train + val (2,040 images) for
# training, test (6,149) for testing.
_base_ = './transfer_bs64.py'

dataset_type = 'Flowers102'
data_root = 'data/Flowers102'
data_preprocessor = dict(num_classes=102)
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='trainval'))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
