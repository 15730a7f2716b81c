"""``musicsearch lut bench | convert``: measure lookup-table layers, convert a trained model's music or text encoder."""

from __future__ import annotations

import argparse
import json


def _shapes(text: str) -> list[tuple[int, int]]:
    """``"256x1024,768x3072"`` → ``[(256, 1024), (768, 3072)]``."""
    try:
        shapes = [tuple(int(side) for side in item.lower().split("x")) for item in text.split(",") if item.strip()]
    except ValueError:
        shapes = []
    if not shapes or any(len(shape) != 2 or min(shape) < 1 for shape in shapes):
        raise argparse.ArgumentTypeError(f"{text!r}: give shapes as IN x OUT pairs, e.g. 256x1024,768x3072")
    return shapes


def _integers(text: str) -> list[int]:
    try:
        values = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive integers separated by commas, e.g. 1,8,64")
    return values


def _lut_bench(arguments: argparse.Namespace) -> int:
    from ..lut.bench import bench_layers, format_layer_table

    rows = bench_layers(arguments.shapes, arguments.batch_sizes, k=arguments.k, v=arguments.v,
                        threads=arguments.threads, repeats=arguments.repeats, progress=not arguments.json)
    print(json.dumps(rows, indent=2) if arguments.json else format_layer_table(rows))
    return 0


def _lut_convert(arguments: argparse.Namespace) -> int:
    from ..data.corpus_io import load_corpus
    from ..lut.bench import model_bytes
    from ..models.loading import load_model
    from ..models.lut_model import convert_music_model, save_lut_model

    model = load_model(arguments.model) if arguments.model else load_model()
    collections = arguments.collections.split(",") if arguments.collections else None
    limit = arguments.limit
    if arguments.corpus == "music21" and collections is None and limit is None:
        collections, limit = ["ryansMammoth", "essenFolksong"], 300  # a few thousand tunes, read in seconds
    corpus = load_corpus(arguments.corpus, collections=collections, limit=limit,
                         include_scores=False, progress=False)
    calibration = corpus.sample(min(arguments.calibration, len(corpus)), seed=arguments.seed)
    options = {"table_dtype": arguments.table_dtype, "scale": arguments.scale, "seed": arguments.seed, "progress": True}
    if arguments.part == "text":
        return _convert_text(model, calibration, arguments, options)
    epochs = 3 if arguments.finetune_epochs is None else arguments.finetune_epochs
    converted = convert_music_model(model, calibration, arguments.k, arguments.v, finetune_epochs=epochs, **options)
    save_lut_model(converted, arguments.out)
    before, after = model_bytes(model.music_encoder), model_bytes(converted.music_encoder)
    print(f"music encoder: {before / 1e6:.2f} MB dense -> {after / 1e6:.2f} MB with lookup tables "
          f"(K={arguments.k}, V={arguments.v}, {arguments.table_dtype}); written to {arguments.out}")
    print("load it with ms.load_lut_model(path)")
    return 0


def _convert_text(model, calibration, arguments: argparse.Namespace, options: dict) -> int:
    from ..data.texts import query_caption
    from ..errors import CorpusError
    from ..models.lut_model import compare_text_encoders, convert_text_model, save_lut_model

    captions = [caption for caption in map(query_caption, calibration) if caption]
    if len(captions) < 16:
        raise CorpusError(f"only {len(captions)} captioned tunes among the {len(calibration)} calibration tunes; "
                          "the text encoder is calibrated on captions: use a captioned corpus or a larger --calibration.")
    # k-means sees every token of every caption: a few hundred captions are tens of thousands of rows. The
    # captions left over (at least a quarter, up to 64, when there are few) check the embeddings.
    checked_count = max(len(captions) - 512, min(64, len(captions) // 4))
    fitted, checked = captions[:len(captions) - checked_count][:512], captions[-checked_count:][:512]
    epochs = 0 if arguments.finetune_epochs is None else arguments.finetune_epochs
    converted = convert_text_model(model, fitted, arguments.k, arguments.v, layers=arguments.layers,
                                   finetune_epochs=epochs, **options)
    save_lut_model(converted, arguments.out)
    report = compare_text_encoders(model, converted, checked, repeats=arguments.repeats)
    print(f"text encoder ({arguments.layers} layers, K={arguments.k}, V={arguments.v}, {arguments.table_dtype}) "
          f"written to {arguments.out}")
    print(f"one {report['tokens']}-token query, 1 thread: {report['dense_us'] / 1e3:.1f} ms dense -> "
          f"{report['lut_us'] / 1e3:.1f} ms ({report['speedup']:.2f}x); mean cosine to the dense embeddings "
          f"on {len(checked)} other captions: {report['cosine']:.3f}")
    print("search with it: ms.load_lut_model(path); its fingerprint differs, so build an index with it.")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``lut bench`` and ``lut convert``."""
    parser = subparsers.add_parser("lut", help="lookup-table (LUT-NN) layers: benchmark, convert a model")
    commands = parser.add_subparsers(dest="lut_command", metavar="SUBCOMMAND", required=True)

    bench = commands.add_parser("bench", help="time one layer: nn.Linear vs int8 dynamic vs LUT fp32/int8")
    bench.add_argument("--shapes", type=_shapes, default=[(256, 1024), (768, 3072), (1024, 4096)],
                       help="IN x OUT layer shapes, comma-separated (default 256x1024,768x3072,1024x4096)")
    bench.add_argument("--batch-sizes", type=_integers, default=[1, 8, 64], help="rows per call (default 1,8,64)")
    bench.add_argument("--k", type=int, default=16, help="centroids per codebook (default 16)")
    bench.add_argument("--v", type=int, default=8, help="sub-vector length (default 8)")
    bench.add_argument("--threads", type=int, default=1, help="torch threads for every method (default 1)")
    bench.add_argument("--repeats", type=int, default=50, help="timing rounds, the median is reported")
    bench.add_argument("--json", action="store_true", help="print the rows as JSON")
    bench.set_defaults(handler=_lut_bench)

    convert = commands.add_parser("convert", help="convert a trained model's music or text encoder to lookup tables")
    convert.add_argument("--model", help="folder of a trained model (save_pretrained); default: the default model")
    convert.add_argument("--part", choices=("music", "text"), default="music",
                         help="the encoder to convert: music (the bar-patch transformer) or text (MiniLM's layers)")
    convert.add_argument("--layers", choices=("ffn", "all"), default="ffn",
                         help="with --part text: the feed-forward layers only, or every linear layer (default ffn)")
    convert.add_argument("--out", required=True, help="folder to write the converted model to")
    convert.add_argument("--k", type=int, default=16, help="centroids per codebook (default 16)")
    convert.add_argument("--v", type=int, default=8, help="sub-vector length (default 8)")
    convert.add_argument("--table-dtype", choices=("int8", "fp32"), default="int8", help="table storage")
    convert.add_argument("--scale", choices=("codebook", "tensor"), default="codebook", help="int8 scale granularity")
    convert.add_argument("--finetune-epochs", type=int, default=None,
                         help="epochs of centroid learning by distillation (0 = k-means only; default 3 for music, "
                         "0 for text)")
    convert.add_argument("--repeats", type=int, default=20, help="timing rounds of the text latency check")
    convert.add_argument("--calibration", type=int, default=1024, help="calibration tunes (default 1024)")
    convert.add_argument("--corpus", default="music21", help="corpus source for calibration tunes")
    convert.add_argument("--collections", help="comma-separated collections of the calibration corpus "
                         "(music21 default: ryansMammoth,essenFolksong with --limit 300)")
    convert.add_argument("--limit", type=int, help="read at most this many corpus files")
    convert.add_argument("--seed", type=int, default=0)
    convert.set_defaults(handler=_lut_convert)
