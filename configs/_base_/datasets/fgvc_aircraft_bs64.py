# FGVC-Aircraft (100 variants) at 224x224 with the ImageNet augmentation: the
# paper's transfer experiments use "exactly the same data augmentation methods
# as in ImageNet classification task" (Section 4.2). These are MMPretrain's
# ImageNet settings (random resized crop 224 + horizontal flip; resize 256 +
# center crop 224 for testing) on MMPretrain's FGVCAircraft dataset, with batch
# 64.
# Splits (the paper does not say which): train + val (6,667 images) for
# training, test (3,333) for testing.
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32.py'

dataset_type = 'FGVCAircraft'
data_root = 'data/fgvc-aircraft-2013b'
data_preprocessor = dict(num_classes=100)

train_dataloader = dict(
    batch_size=64,
    dataset=dict(type=dataset_type, data_root=data_root, split='trainval'))
val_dataloader = dict(
    batch_size=64,
    dataset=dict(type=dataset_type, data_root=data_root, split='test'))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
