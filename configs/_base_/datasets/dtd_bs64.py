# Describable Textures Dataset (MMPretrain's DTD dataset) with the ImageNet
# augmentation and batch 64 of transfer_bs64.py.
# Splits (the paper does not say which): the train + val sets of imdb/imdb.mat
# (3,760 images) for training, its test set (1,880) for testing.
_base_ = './transfer_bs64.py'

dataset_type = 'DTD'
data_root = 'data/dtd'
data_preprocessor = dict(num_classes=47)
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='trainval'))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
