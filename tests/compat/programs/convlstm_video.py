"""ConvLSTM as ndrplz/ConvLSTM_pytorch (``convlstm.py``) writes it, with the next-frame
prediction loop of the Moving-MNIST examples built on it, size-reduced.

The idioms: ``ConvLSTMCell`` (``self.padding = kernel_size[0] // 2, kernel_size[1] // 2``,
``nn.Conv2d(in_channels=self.input_dim + self.hidden_dim, out_channels=4 * self.hidden_dim,
kernel_size=self.kernel_size, padding=self.padding, bias=self.bias)``, ``combined =
torch.cat([input_tensor, h_cur], dim=1)``, ``cc_i, cc_f, cc_o, cc_g = torch.split(
combined_conv, self.hidden_dim, dim=1)``, ``torch.sigmoid`` / ``torch.tanh`` gates and
``init_hidden`` returning ``torch.zeros(batch_size, self.hidden_dim, height, width,
device=self.conv.weight.device)``); ``ConvLSTM`` (``_check_kernel_size_consistency`` with
``isinstance(kernel_size, tuple) or (isinstance(kernel_size, list) and all([isinstance(elem,
tuple) for elem in kernel_size]))``, ``_extend_for_multilayer``, ``nn.ModuleList(cell_list)``,
``if not self.batch_first: input_tensor = input_tensor.permute(1, 0, 2, 3, 4)``, ``b, _, _,
h, w = input_tensor.size()``, ``hidden_state = self._init_hidden(batch_size=b,
image_size=(h, w))``, the inner ``h, c = self.cell_list[layer_idx](input_tensor=
cur_layer_input[:, t, :, :, :], cur_state=[h, c])``, ``layer_output = torch.stack(
output_inner, dim=1)``, ``layer_output_list = layer_output_list[-1:]`` when not
``return_all_layers``); the passing of a given ``hidden_state`` (the original raises
``NotImplementedError()``, kept); a next-frame head (``nn.Conv2d(hidden_dim, 1,
kernel_size=1)`` over the last layer's outputs, ``torch.sigmoid``), ``nn.MSELoss()`` against
the frames shifted by one, ``nn.utils.clip_grad_norm_(model.parameters(), max_norm)`` (its
returned total norm), ``optim.Adam`` and ``ReduceLROnPlateau``; and autoregressive
rollout, each predicted frame fed back with ``torch.cat((frames, pred.unsqueeze(1)),
dim=1)``.

Changed: 64 x 64 Moving-MNIST digits -> 8 x 8 NumPy moving squares, hidden dims [4, 4], ten
frames -> five.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["make_model", "run"]

BATCH, FRAMES, SIZE, STEPS, MAX_NORM = 3, 5, 8, 4, 0.5


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class ConvLSTMCell(nn.Module):
        def __init__(self, input_dim: int, hidden_dim: int, kernel_size: tuple, bias: bool) -> None:
            """
            Initialize ConvLSTM cell.
            """
            super(ConvLSTMCell, self).__init__()  # noqa: UP008 (as in convlstm.py)

            self.input_dim = input_dim
            self.hidden_dim = hidden_dim

            self.kernel_size = kernel_size
            self.padding = kernel_size[0] // 2, kernel_size[1] // 2
            self.bias = bias

            self.conv = nn.Conv2d(
                in_channels=self.input_dim + self.hidden_dim,
                out_channels=4 * self.hidden_dim,
                kernel_size=self.kernel_size,
                padding=self.padding,
                bias=self.bias,
            )

        def forward(self, input_tensor: Any, cur_state: list) -> tuple:
            h_cur, c_cur = cur_state

            combined = torch.cat([input_tensor, h_cur], dim=1)  # concatenate along channel axis

            combined_conv = self.conv(combined)
            cc_i, cc_f, cc_o, cc_g = torch.split(combined_conv, self.hidden_dim, dim=1)
            i = torch.sigmoid(cc_i)
            f = torch.sigmoid(cc_f)
            o = torch.sigmoid(cc_o)
            g = torch.tanh(cc_g)

            c_next = f * c_cur + i * g
            h_next = o * torch.tanh(c_next)

            return h_next, c_next

        def init_hidden(self, batch_size: int, image_size: tuple) -> tuple:
            height, width = image_size
            return (
                torch.zeros(
                    batch_size, self.hidden_dim, height, width, device=self.conv.weight.device
                ),
                torch.zeros(
                    batch_size, self.hidden_dim, height, width, device=self.conv.weight.device
                ),
            )

    class ConvLSTM(nn.Module):
        def __init__(
            self,
            input_dim: int,
            hidden_dim: Any,
            kernel_size: Any,
            num_layers: int,
            batch_first: bool = False,
            bias: bool = True,
            return_all_layers: bool = False,
        ) -> None:
            super(ConvLSTM, self).__init__()  # noqa: UP008 (as in convlstm.py)

            self._check_kernel_size_consistency(kernel_size)

            # Make sure that both `kernel_size` and `hidden_dim` are lists having len == num_layers
            kernel_size = self._extend_for_multilayer(kernel_size, num_layers)
            hidden_dim = self._extend_for_multilayer(hidden_dim, num_layers)
            if not len(kernel_size) == len(hidden_dim) == num_layers:
                raise ValueError("Inconsistent list length.")

            self.input_dim = input_dim
            self.hidden_dim = hidden_dim
            self.kernel_size = kernel_size
            self.num_layers = num_layers
            self.batch_first = batch_first
            self.bias = bias
            self.return_all_layers = return_all_layers

            cell_list = []
            for i in range(0, self.num_layers):
                cur_input_dim = self.input_dim if i == 0 else self.hidden_dim[i - 1]

                cell_list.append(
                    ConvLSTMCell(
                        input_dim=cur_input_dim,
                        hidden_dim=self.hidden_dim[i],
                        kernel_size=self.kernel_size[i],
                        bias=self.bias,
                    )
                )

            self.cell_list = nn.ModuleList(cell_list)

        def forward(self, input_tensor: Any, hidden_state: Any = None) -> tuple:
            if not self.batch_first:
                # (t, b, c, h, w) -> (b, t, c, h, w)
                input_tensor = input_tensor.permute(1, 0, 2, 3, 4)

            b, _, _, h, w = input_tensor.size()

            # Implement stateful ConvLSTM
            if hidden_state is not None:
                raise NotImplementedError()
            else:
                # Since the init is done in forward. Can send image size here
                hidden_state = self._init_hidden(batch_size=b, image_size=(h, w))

            layer_output_list = []
            last_state_list = []

            seq_len = input_tensor.size(1)
            cur_layer_input = input_tensor

            for layer_idx in range(self.num_layers):
                h, c = hidden_state[layer_idx]
                output_inner = []
                for t in range(seq_len):
                    h, c = self.cell_list[layer_idx](
                        input_tensor=cur_layer_input[:, t, :, :, :], cur_state=[h, c]
                    )
                    output_inner.append(h)

                layer_output = torch.stack(output_inner, dim=1)
                cur_layer_input = layer_output

                layer_output_list.append(layer_output)
                last_state_list.append([h, c])

            if not self.return_all_layers:
                layer_output_list = layer_output_list[-1:]
                last_state_list = last_state_list[-1:]

            return layer_output_list, last_state_list

        def _init_hidden(self, batch_size: int, image_size: tuple) -> list:
            init_states = []
            for i in range(self.num_layers):
                init_states.append(self.cell_list[i].init_hidden(batch_size, image_size))
            return init_states

        @staticmethod
        def _check_kernel_size_consistency(kernel_size: Any) -> None:
            if not (
                isinstance(kernel_size, tuple)
                or (
                    isinstance(kernel_size, list)
                    and all([isinstance(elem, tuple) for elem in kernel_size])
                )  # noqa: C419
            ):
                raise ValueError("`kernel_size` must be tuple or list of tuples")

        @staticmethod
        def _extend_for_multilayer(param: Any, num_layers: int) -> list:
            if not isinstance(param, list):
                param = [param] * num_layers
            return param

    class NextFrame(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convlstm = ConvLSTM(1, [4, 4], [(3, 3), (3, 3)], 2, batch_first=True, bias=True)
            self.head = nn.Conv2d(4, 1, kernel_size=1)

        def forward(self, frames: Any) -> Any:
            layer_output_list, _ = self.convlstm(frames)
            out = layer_output_list[0]
            b, t, c, h, w = out.shape
            pred = self.head(out.reshape(b * t, c, h, w)).view(b, t, 1, h, w)
            return torch.sigmoid(pred)

    return NextFrame()


def moving_squares(rng: np.random.Generator, batch: int, frames: int) -> np.ndarray:
    video = np.zeros((batch, frames, 1, SIZE, SIZE))
    for b in range(batch):
        y, x = rng.integers(0, SIZE - 3, 2)
        dy, dx = rng.choice([-1, 1], 2)
        for t in range(frames):
            video[b, t, 0, y : y + 3, x : x + 3] = 1.0
            if not 0 <= y + dy <= SIZE - 3:
                dy = -dy
            if not 0 <= x + dx <= SIZE - 3:
                dx = -dx
            y, x = y + dy, x + dx
    return video + 0.05 * rng.standard_normal(video.shape)


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    model = make_model(torch_like)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    rng = np.random.default_rng(8)
    values: list[float] = []

    convlstm = model.convlstm
    h0, c0 = convlstm.cell_list[0].init_hidden(2, (SIZE, SIZE))
    values += [*h0.shape, float(h0.device == convlstm.cell_list[0].conv.weight.device)]
    values += [float(h0.abs().sum().item() == 0.0), float(convlstm.cell_list[1].padding == (1, 1))]
    try:
        convlstm._check_kernel_size_consistency([3, 3])
    except ValueError as err:
        values += [float("tuple" in str(err))]
    x = as_tensor(torch_like, moving_squares(rng, 2, 3))
    try:
        convlstm(x, hidden_state=[(h0, c0)])
    except NotImplementedError:
        values += [1.0]
    time_major = type(convlstm)(1, 4, (3, 3), 1, batch_first=False, return_all_layers=True)
    time_major.load_state_dict(
        {k: v for k, v in convlstm.state_dict().items() if "cell_list.0." in k}
    )
    outs, states = time_major(x.permute(1, 0, 2, 3, 4))
    ref, ref_states = convlstm(x)
    values += [float(len(outs)), float(len(ref)), *outs[0].shape, float(len(states[0]))]
    values += [states[0][1].sum().item(), ref_states[0][0].sum().item()]

    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=0.5, patience=0
    )
    for _step in range(STEPS):
        video = as_tensor(torch_like, moving_squares(rng, BATCH, FRAMES))
        inputs, targets = video[:, :-1], video[:, 1:]
        model.train()
        optimizer.zero_grad()
        preds = model(inputs)
        loss = criterion(preds, targets)
        loss.backward()
        total_norm = nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)
        optimizer.step()
        scheduler.step(loss.item())
        values += [loss.item(), total_norm.item(), optimizer.param_groups[0]["lr"]]
    clipped = torch.sqrt(sum(p.grad.pow(2).sum() for p in model.parameters()))
    values += [clipped.item()]

    # autoregressive rollout from two observed frames
    model.eval()
    video = as_tensor(torch_like, moving_squares(rng, 2, FRAMES))
    frames = video[:, :2]
    with torch.no_grad():
        for _t in range(FRAMES - 2):
            pred = model(frames)[:, -1]
            frames = torch.cat((frames, pred.unsqueeze(1)), dim=1)
    values += [*frames.shape, criterion(frames[:, 2:], video[:, 2:]).item()]
    values += frames[0, -1, 0, 3].tolist()
    return values
