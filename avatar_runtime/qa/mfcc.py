"""MFCCs exactly as ``python_speech_features.mfcc`` computes them with its defaults.

SyncNet was trained on those features (13 cepstra every 10 ms over 25 ms frames, 26 mel bands,
512-point FFT, pre-emphasis 0.97, lifter 22, log energy in place of c0), on 16 kHz audio in
int16 units; any difference shifts its embedding, so we reproduce them rather than approximate.
"""
import numpy as np
import numpy.typing as npt
from scipy.fft import dct

Matrix = npt.NDArray[np.float64]


def _mel(hz: Matrix | float) -> Matrix:
    return np.asarray(2595 * np.log10(1 + np.asarray(hz) / 700.0))


def _hz(mel: Matrix) -> Matrix:
    return np.asarray(700 * (10 ** (mel / 2595.0) - 1))


def _filterbank(nfilt: int, nfft: int, sample_rate: int) -> Matrix:
    points = _hz(np.linspace(_mel(0.0), _mel(sample_rate / 2), nfilt + 2))
    bins = np.floor((nfft + 1) * points / sample_rate).astype(int)
    bank = np.zeros((nfilt, nfft // 2 + 1))
    for j in range(nfilt):
        for i in range(bins[j], bins[j + 1]):
            bank[j, i] = (i - bins[j]) / (bins[j + 1] - bins[j])
        for i in range(bins[j + 1], bins[j + 2]):
            bank[j, i] = (bins[j + 2] - i) / (bins[j + 2] - bins[j + 1])
    return bank


def mfcc(signal: npt.NDArray[np.floating], sample_rate: int = 16000, numcep: int = 13, nfilt: int = 26,
         nfft: int = 512) -> Matrix:
    """``frames x numcep`` MFCCs, 100 frames per second."""
    x = np.asarray(signal, np.float64)
    x = np.append(x[:1], x[1:] - 0.97 * x[:-1])
    frame_len, step = round(0.025 * sample_rate), round(0.01 * sample_rate)
    count = 1 if len(x) <= frame_len else 1 + int(np.ceil((len(x) - frame_len) / step))
    x = np.concatenate([x, np.zeros((count - 1) * step + frame_len - len(x))])
    index = np.arange(frame_len)[None, :] + step * np.arange(count)[:, None]
    power = np.abs(np.fft.rfft(x[index], nfft)) ** 2 / nfft
    eps = np.finfo(float).eps
    energy = power.sum(axis=1)
    energy[energy == 0] = eps
    bands = power @ _filterbank(nfilt, nfft, sample_rate).T
    bands[bands == 0] = eps
    cepstra = dct(np.log(bands), type=2, axis=1, norm="ortho")[:, :numcep]
    cepstra *= 1 + 11 * np.sin(np.pi * np.arange(numcep) / 22)  # lifter 22
    cepstra[:, 0] = np.log(energy)
    return np.asarray(cepstra)
