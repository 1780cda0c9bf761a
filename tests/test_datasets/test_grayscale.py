"""Grey data from image files: the ``Grayscale`` transform, and the published
Fashion-MNIST weights predicting on grey PNG and JPEG files and on an RGB
file as they do on the data set's arrays."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmpretrain.apis import ImageClassificationInferencer
from mmpretrain.registry import DATASETS, TRANSFORMS
from PIL import Image

import mmcolam  # noqa: F401  (Grayscale, SmallConvNet, FashionMNISTGz)
from tests.helpers.tool_runs import REPO

ROOT = REPO
WEIGHTS = osp.join(ROOT, 'weights',
                   'smallconvnet_1xb128-colam_fashion-mnist_20261206-dab709b6')


def gray(img, **kwargs):
    return TRANSFORMS.build(dict(type='Grayscale', **kwargs))(
        dict(img=img))['img']


def tinted(grey):
    """An RGB image whose luma is ``grey`` (up to clipping): red as the grey
    level, blue at 80 %, green making up the rest."""
    g = grey.astype(np.float64)
    red, blue = g, 0.8 * g
    green = (g - 0.299 * red - 0.114 * blue) / 0.587
    rgb = np.stack([red, green, blue], axis=-1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def test_grey_images_pass_unchanged():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(gray(grey), grey)
    np.testing.assert_array_equal(gray(grey[..., None]), grey[..., None])
    # A grey image read as three equal channels gives back its pixels.
    np.testing.assert_array_equal(gray(np.dstack([grey] * 3)), grey)


@pytest.mark.parametrize('channel_order', ['bgr', 'rgb'])
def test_colour_is_luma_as_pil_computes_it(channel_order, tmp_path):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(rgb).convert('L')).astype(int)
    img = rgb[..., ::-1] if channel_order == 'bgr' else rgb
    out = gray(img, channel_order=channel_order)
    assert out.shape == (16, 16) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - expected).max() <= 1


def test_bad_shape_is_an_error():
    with pytest.raises(ValueError, match=r'shape \(8, 8, 4\) is neither'):
        gray(np.zeros((8, 8, 4), np.uint8))


@pytest.fixture(scope='module')
def test_images():
    """The first 20 images of the real test set and their labels, as the
    data set gives them to the published config's test pipeline."""
    cfg = Config.fromfile(WEIGHTS + '.py').test_dataloader.dataset
    cfg.data_root = osp.join(ROOT, 'data', 'fashion_mnist')
    cfg.indices = 20
    dataset = DATASETS.build(cfg)
    raw = [dataset.get_data_info(i)['img'] for i in range(20)]
    # The pipeline (Grayscale first) leaves the data set's arrays as they are.
    for i, img in enumerate(raw):
        packed = dataset[i]['inputs']
        np.testing.assert_array_equal(packed.numpy(), img[None])
    return raw, dataset.get_gt_labels()


def test_published_weights_predict_the_same_on_image_files(
        test_images, tmp_path):
    test_images, truth = test_images
    inferencer = ImageClassificationInferencer(
        WEIGHTS + '.py', pretrained=WEIGHTS + '.pth', device='cpu')
    files = {'grey PNG': [], 'grey JPEG': [], 'RGB PNG': []}
    for i, img in enumerate(test_images):
        for kind, name, pixels in (('grey PNG', f'{i}.png', img),
                                   ('grey JPEG', f'{i}.jpg', img),
                                   ('RGB PNG', f'{i}_rgb.png', tinted(img))):
            path = str(tmp_path / name)
            Image.fromarray(pixels).save(path)
            files[kind].append(path)
    arrays = inferencer(test_images, batch_size=20)
    labels = [r['pred_label'] for r in arrays]
    for kind, paths in files.items():
        results = inferencer(paths, batch_size=20)
        assert [r['pred_label'] for r in results] == labels, kind
        if kind == 'grey PNG':  # lossless: the very same scores
            for result, array in zip(results, arrays):
                np.testing.assert_array_equal(result['pred_scores'],
                                              array['pred_scores'])
    # and mostly right (the model reaches 90 % on the whole test set)
    assert np.mean(np.array(labels) == truth) >= 0.8
