"""PyTorch's "Writing Custom Datasets, DataLoaders and Transforms" tutorial
(``beginner/data_loading_tutorial``), size-reduced, with a small landmark regressor trained on
what its loader yields.

The idioms: ``FaceLandmarksDataset(Dataset)`` reading a CSV with ``self.landmarks_frame.iloc[idx,
1:]`` (here a list of rows), ``if torch.is_tensor(idx): idx = idx.tolist()``, ``landmarks =
np.array([landmarks], dtype=float).reshape(-1, 2)``, a ``sample = {'image': image, 'landmarks':
landmarks}`` dict and ``if self.transform: sample = self.transform(sample)``; the callable
transform classes ``Rescale`` (``assert isinstance(output_size, (int, tuple))``, the shorter
side matched, ``landmarks * [new_w / w, new_h / h]``), ``RandomCrop`` (``np.random.randint(0, h
- new_h + 1)``, ``landmarks - [left, top]``) and ``ToTensor`` (``image.transpose((2, 0, 1))``,
``torch.from_numpy``) chained by ``transforms.Compose``; iterating the dataset directly
(``for i, sample in enumerate(transformed_dataset)``, ``sample['image'].size()``); ``DataLoader(
transformed_dataset, batch_size=4, shuffle=True, num_workers=0)`` whose default collate stacks
the dicts (``sample_batched['image']``, ``sample_batched['landmarks']``), ``torch.is_tensor``
on an index tensor (``dataset[torch.tensor(5)]``, and batches of indices from a
``BatchSampler(SequentialSampler(...), 5, False)``), and the loop ``for i_batch, sample_batched in
enumerate(dataloader)``; then a regressor fed ``sample_batched['image'].float()`` and
``sample_batched['landmarks'].view(n, -1).float()``.

Changed: the faces CSV and JPEGs -> 12 seeded NumPy images of 10x14 to 14x12 with 4 landmarks;
``skimage.transform.resize`` -> nearest-neighbour indexing in NumPy; ``Rescale(256)`` /
``RandomCrop(224)`` -> ``Rescale(10)`` / ``RandomCrop(8)``; ``transforms.Compose`` is
torchvision's two-line class (torchvision is not part of torch); the plots are the returned
values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
N_LANDMARKS = 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        nn.Linear(16, 2 * N_LANDMARKS),
    )  # fmt: skip


class Compose:
    """torchvision's ``transforms.Compose``."""

    def __init__(self, transforms: list) -> None:
        self.transforms = transforms

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img


def _resize(image: np.ndarray, shape: tuple) -> np.ndarray:
    """``skimage.transform.resize`` stand-in: nearest-neighbour rows and columns."""
    rows = (np.arange(shape[0]) * image.shape[0] / shape[0]).astype(int)
    cols = (np.arange(shape[1]) * image.shape[1] / shape[1]).astype(int)
    return image[rows][:, cols]


class Rescale:
    """Rescale the image in a sample to a given size.

    Args:
        output_size (tuple or int): Desired output size. If tuple, output is
            matched to output_size. If int, smaller of image edges is matched
            to output_size keeping aspect ratio the same.
    """

    def __init__(self, output_size: Any) -> None:
        assert isinstance(output_size, (int, tuple))
        self.output_size = output_size

    def __call__(self, sample: dict) -> dict:
        image, landmarks = sample["image"], sample["landmarks"]

        h, w = image.shape[:2]
        if isinstance(self.output_size, int):
            if h > w:
                new_h, new_w = self.output_size * h / w, self.output_size
            else:
                new_h, new_w = self.output_size, self.output_size * w / h
        else:
            new_h, new_w = self.output_size

        new_h, new_w = int(new_h), int(new_w)

        img = _resize(image, (new_h, new_w))

        # h and w are swapped for landmarks because for images,
        # x and y axes are axis 1 and 0 respectively
        landmarks = landmarks * [new_w / w, new_h / h]

        return {"image": img, "landmarks": landmarks}


class RandomCrop:
    """Crop randomly the image in a sample.

    Args:
        output_size (tuple or int): Desired output size. If int, square crop
            is made.
    """

    def __init__(self, output_size: Any) -> None:
        assert isinstance(output_size, (int, tuple))
        if isinstance(output_size, int):
            self.output_size = (output_size, output_size)
        else:
            assert len(output_size) == 2
            self.output_size = output_size

    def __call__(self, sample: dict) -> dict:
        image, landmarks = sample["image"], sample["landmarks"]

        h, w = image.shape[:2]
        new_h, new_w = self.output_size

        top = np.random.randint(0, h - new_h + 1)
        left = np.random.randint(0, w - new_w + 1)

        image = image[top: top + new_h,
                      left: left + new_w]  # fmt: skip

        landmarks = landmarks - [left, top]

        return {"image": image, "landmarks": landmarks}


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    Dataset, DataLoader = torch.utils.data.Dataset, torch.utils.data.DataLoader

    class ToTensor:
        """Convert ndarrays in sample to Tensors."""

        def __call__(self, sample: dict) -> dict:
            image, landmarks = sample["image"], sample["landmarks"]

            # swap color axis because
            # numpy image: H x W x C
            # torch image: C x H x W
            image = image.transpose((2, 0, 1))
            return {'image': torch.from_numpy(image),
                    'landmarks': torch.from_numpy(landmarks)}  # fmt: skip

    rng = np.random.default_rng(31)
    frame = []
    images = {}
    for i in range(12):
        h, w = int(rng.integers(10, 15)), int(rng.integers(10, 15))
        name = f"face_{i}.jpg"
        images[name] = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
        points = np.stack([rng.uniform(0, w, N_LANDMARKS), rng.uniform(0, h, N_LANDMARKS)], 1)
        frame.append([name, *points.reshape(-1).tolist()])

    class FaceLandmarksDataset(Dataset):
        """Face Landmarks dataset."""

        def __init__(self, rows: list, transform: Any = None) -> None:
            """
            Arguments:
                rows: the CSV file's rows (name, then x, y pairs).
                transform (callable, optional): Optional transform to be applied
                    on a sample.
            """
            self.landmarks_frame = rows
            self.transform = transform

        def __len__(self) -> int:
            return len(self.landmarks_frame)

        def __getitem__(self, idx: Any) -> dict:
            if torch.is_tensor(idx):
                idx = idx.tolist()

            img_name = self.landmarks_frame[idx][0]
            image = images[img_name]
            landmarks = self.landmarks_frame[idx][1:]
            landmarks = np.array([landmarks], dtype=float).reshape(-1, 2)
            sample = {"image": image, "landmarks": landmarks}

            if self.transform:
                sample = self.transform(sample)

            return sample

    values: list[float] = []
    face_dataset = FaceLandmarksDataset(frame)
    for i, sample in enumerate(face_dataset):
        values += [i, *sample["image"].shape, *sample["landmarks"].shape]
        if i == 3:
            break

    np.random.seed(0)
    transformed_dataset = FaceLandmarksDataset(
        frame, transform=Compose([Rescale(10), RandomCrop(8), ToTensor()]))  # fmt: skip
    for i, sample in enumerate(transformed_dataset):
        values += [i, *sample["image"].size(), *sample["landmarks"].size()]
        if i == 3:
            break
    sample = transformed_dataset[torch.tensor(5)]  # an index tensor: ``idx.tolist()``
    values.append(sample["landmarks"].sum().item())

    torch.manual_seed(3)
    np.random.seed(1)
    dataloader = DataLoader(transformed_dataset, batch_size=4, shuffle=True, num_workers=0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _epoch in range(2):
        for i_batch, sample_batched in enumerate(dataloader):
            values += [i_batch, *sample_batched["image"].size()]
            assert sample_batched["landmarks"].dtype == torch.float64
            n = sample_batched["image"].size(0)
            images_batch = sample_batched["image"].float() / 255.0
            landmarks_batch = sample_batched["landmarks"].view(n, -1).float() / 8.0
            optimizer.zero_grad()
            loss = torch.nn.functional.smooth_l1_loss(model(images_batch), landmarks_batch)
            loss.backward()
            optimizer.step()
            values.append(loss.item())

    sampler = torch.utils.data.BatchSampler(
        torch.utils.data.SequentialSampler(range(len(transformed_dataset))), 5, False)  # fmt: skip
    for indices in sampler:
        batch = [transformed_dataset[torch.tensor(i)] for i in indices]
        values.append(torch.stack([b["landmarks"] for b in batch]).sum().item())
    return values
