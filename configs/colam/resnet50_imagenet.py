# COLAM, ResNet-50 on ImageNet-1k, the paper's run under its short name:
# `bash tools/dist_train.sh configs/colam/resnet50_imagenet.py 8`.
_base_ = ['./resnet50_8xb32-colam_in1k.py']
