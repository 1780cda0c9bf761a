# Oxford Flowers-102 at 224x224 with the ImageNet augmentation: the paper's
# transfer experiments use "exactly the same data augmentation methods as in
# ImageNet classification task" (Section 4.2). These are MMPretrain's ImageNet
# settings (random resized crop 224 + horizontal flip; resize 256 + center crop
# 224 for testing) on MMPretrain's Flowers102 dataset, with batch 64.
# Splits (the paper does not say which): train + val (2,040 images) for
# training, test (6,149) for testing.
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32.py'

dataset_type = 'Flowers102'
data_root = 'data/Flowers102'
data_preprocessor = dict(num_classes=102)

train_dataloader = dict(
    batch_size=64,
    dataset=dict(type=dataset_type, data_root=data_root, split='trainval'))
val_dataloader = dict(
    batch_size=64,
    dataset=dict(type=dataset_type, data_root=data_root, split='test'))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
