# CUB-200-2011 (MMPretrain's CUB dataset) with the ImageNet augmentation and
# batch 64 of transfer_bs64.py.
# Splits (the paper does not say which): the official train (5,994 images) /
# test (5,794 images) split.
_base_ = './transfer_bs64.py'

dataset_type = 'CUB'
data_root = 'data/CUB_200_2011'
data_preprocessor = dict(num_classes=200)
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='train'))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
