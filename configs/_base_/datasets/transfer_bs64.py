# The transfer data sets (cub, dtd, fgvc_aircraft, flowers102 _bs64.py) at
# 224x224 with the ImageNet augmentation: the paper's transfer experiments use
# "exactly the same data augmentation methods as in ImageNet classification
# task" (Section 4.2). These are MMPretrain's ImageNet settings (random resized
# crop 224 + horizontal flip; resize 256 + center crop 224 for testing), with
# batch 64 and the test split for validation and testing. Each data set file
# sets the dataset type, its root, the training split and the classes.
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32.py'

train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64, dataset=dict(split='test'))
test_dataloader = val_dataloader
