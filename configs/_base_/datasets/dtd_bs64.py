# Describable Textures Dataset (DTD) at 224x224 with the ImageNet augmentation:
# the paper's transfer experiments use "exactly the same data augmentation
# methods as in ImageNet classification task" (Section 4.2). These are
# MMPretrain's ImageNet settings (random resized crop 224 + horizontal flip;
# resize 256 + center crop 224 for testing) on MMPretrain's DTD dataset, with
# batch 64.
# Splits (the paper does not say which): the train + val sets of imdb/imdb.mat
# (3,760 images) for training, its test set (1,880) for testing.
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32.py'

dataset_type = 'DTD'
data_root = 'data/dtd'
data_preprocessor = dict(num_classes=47)

train_dataloader = dict(
    batch_size=64,
    dataset=dict(type=dataset_type, data_root=data_root, split='trainval'))
val_dataloader = dict(
    batch_size=64,
    dataset=dict(type=dataset_type, data_root=data_root, split='test'))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
