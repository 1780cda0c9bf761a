# CUB-200-2011 at 224x224 with the ImageNet augmentation: the paper's transfer
# experiments use "exactly the same data augmentation methods as in ImageNet
# classification task" (Section 4.2). These are MMPretrain's ImageNet settings
# (random resized crop 224 + horizontal flip; resize 256 + center crop 224 for
# testing) on MMPretrain's CUB dataset, with batch 64.
# Splits (the paper does not say which): the official train (5,994 images) /
# test (5,794 images) split.
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32.py'

dataset_type = 'CUB'
data_root = 'data/CUB_200_2011'
data_preprocessor = dict(num_classes=200)

train_dataloader = dict(
    batch_size=64,
    dataset=dict(type=dataset_type, data_root=data_root, split='train'))
val_dataloader = dict(
    batch_size=64,
    dataset=dict(type=dataset_type, data_root=data_root, split='test'))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
