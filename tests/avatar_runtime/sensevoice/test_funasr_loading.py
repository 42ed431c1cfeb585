"""Our SenseVoice loader against funasr's real ``AutoModel`` (where funasr is installed: GPU hosts).

funasr is not in requirements.txt (see requirements-gpu.txt), so this is skipped in development
and CI. It builds a tiny SenseVoiceSmall with random weights in the production directory layout
(config.yaml, model.pt, am.mvn, the BPE model), loads it through ``SenseVoiceRecognizer`` exactly
as a worker would, and checks that generate()'s options are accepted and its tagged output
parses. It says nothing about recognition quality: the weights are random.
"""
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("funasr")

TAGS = ["<|zh|>", "<|en|>", "<|yue|>", "<|ja|>", "<|ko|>", "<|nospeech|>", "<|NEUTRAL|>", "<|HAPPY|>",
        "<|EMO_UNKNOWN|>", "<|Speech|>", "<|BGM|>", "<|withitn|>", "<|woitn|>"]
FEATURES = 560  # 80 mel bins x 7 stacked frames (lfr_m)
VOCAB = 80


def tiny_sensevoice(model_dir: Path) -> None:
    import funasr.models.sense_voice.model  # noqa: F401 - registers SenseVoiceSmall
    import sentencepiece as spm
    import torch
    import yaml
    from funasr.register import tables

    model_dir.mkdir(parents=True)
    corpus = model_dir / "corpus.txt"
    corpus.write_text("\n".join(["where is the toilet please", "the shop opens at nine", "你好 洗手间 在 哪里"] * 50))
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(model_dir / "chn_jp_yue_eng_ko_spectok.bpe"),
                                   vocab_size=VOCAB, model_type="bpe", user_defined_symbols=TAGS,
                                   character_coverage=1.0, minloglevel=2)
    encoder_conf = {"output_size": 64, "attention_heads": 4, "linear_units": 128, "num_blocks": 2, "tp_blocks": 1,
                    "input_layer": "pe", "pos_enc_class": "SinusoidalPositionEncoder", "normalize_before": True,
                    "kernel_size": 11, "sanm_shfit": 0, "selfattention_layer_type": "sanm"}
    model_conf = {"length_normalized_loss": True, "sos": 1, "eos": 2, "ignore_id": -1}
    (model_dir / "config.yaml").write_text(yaml.safe_dump({
        "model": "SenseVoiceSmall", "model_conf": model_conf,
        "encoder": "SenseVoiceEncoderSmall", "encoder_conf": encoder_conf,
        "tokenizer": "SentencepiecesTokenizer",
        "tokenizer_conf": {"bpemodel": None, "unk_symbol": "<unk>", "split_with_space": True},
        "frontend": "WavFrontend",
        "frontend_conf": {"fs": 16000, "window": "hamming", "n_mels": 80, "frame_length": 25, "frame_shift": 10,
                          "lfr_m": 7, "lfr_n": 6, "cmvn_file": None},
    }))
    ones = " ".join(["0.25"] * FEATURES)
    shift = " ".join(["-8.0"] * FEATURES)
    (model_dir / "am.mvn").write_text(
        f"<Nnet>\n<Splice> {FEATURES} {FEATURES}\n[ 0 ]\n<AddShift> {FEATURES} {FEATURES}\n<LearnRateCoef> 0 [ {shift} ]\n"
        f"<Rescale> {FEATURES} {FEATURES}\n<LearnRateCoef> 0 [ {ones} ]\n</Nnet>\n")
    torch.manual_seed(0)
    model = tables.model_classes.get("SenseVoiceSmall")(encoder="SenseVoiceEncoderSmall", encoder_conf=encoder_conf,
                                                        input_size=FEATURES, vocab_size=VOCAB, **model_conf)
    torch.save(model.state_dict(), model_dir / "model.pt")


def test_recognizer_loads_a_local_directory_through_automodel_and_parses_its_output(tmp_path: Path) -> None:
    from avatar_runtime.asr.sensevoice import SenseVoiceRecognizer

    model_dir = tmp_path / "SenseVoiceSmall"
    tiny_sensevoice(model_dir)
    recognizer = SenseVoiceRecognizer(model_dir, threads=1)
    assert recognizer.device in ("cpu", "cuda")
    rng = np.random.default_rng(0)
    audio = (0.1 * np.sin(2 * np.pi * 220 * np.arange(24000) / 24000) + 0.01 * rng.standard_normal(24000))
    raw = recognizer._model.generate(input=audio[:16000].astype(np.float32), cache={}, language="auto", use_itn=True,
                                     ban_emo_unk=False, disable_pbar=True)
    assert isinstance(raw, list) and isinstance(raw[0]["text"], str)
    recognition = recognizer.transcribe(audio.astype(np.float32), 24000, language="en")
    assert recognition.extras["emotion"]  # parsed, whatever random weights said
    assert recognizer.transcribe(np.zeros(0, dtype=np.float32), 16000).text == ""
