"""What makes a stored model trusted: hashes of its files, a signed manifest, an allow-list.

Plain hashing, HMAC and JSON file work, with no MLflow in it, so it can be read and tested on
its own; :mod:`riskengine.models.tracking` fetches the files and metrics from the store and
hands them here.

- At registration the SHA-256 of every stored file of the model, of every artifact of its run
  (``explain.json`` with the calibration and band cut-offs among them) and the run's metrics
  are pinned in a manifest beside the database (``mlflow.db.manifest.json``), each version's
  entry signed with HMAC-SHA256 under a key kept outside the store
  (:attr:`Settings.signing_key`, created with mode 0600 by the first training).
- Loading checks the signature, then the files and metrics against the entry, then the skops
  types against the allow-list kept in this module, and only then deserialises them (from the
  checked copy). Where ``champion`` and ``challenger`` point is signed there too.
- Editing the database, the artifacts, or both, cannot make a model load that the key holder
  did not register, nor move the champion; editing the manifest without the key breaks its
  signature. Digests name files relative to the model's directory, so a store copied to
  another place verifies as it did where it was made.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from riskengine.config import SIGNING_KEY_ENV, Settings
from riskengine.errors import ModelIntegrityError
from riskengine.models.store import manifest_path

MODEL_SHA256_TAG = "model_sha256"
MODEL_FILES_TAG = "model_files_sha256"
# Written by MLflow into every download of a registered version; not a stored artifact.
DOWNLOAD_ONLY_FILES = frozenset({"registered_model_meta"})
MANIFEST_FORMAT = "riskengine-manifest/1"

logger = logging.getLogger("riskengine")

# skops refuses unknown types on load; these are the ones a calibrated HistGradientBoosting
# classifier contains. Kept in code, never read from the model file: a model whose MLmodel or
# skops file asks for anything else is refused.
SKOPS_TRUSTED_TYPES = [
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.frozen._frozen.FrozenEstimator",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
    "numpy.dtype",
]


# -- hashes of the stored files --------------------------------------------------------------


def artifact_digest(directory: Path) -> tuple[str, dict[str, str]]:
    """SHA-256 of every file under ``directory`` and one digest over all of them.

    The combined digest covers names and contents, so a renamed, added or removed file
    changes it as much as an edited one.
    """
    return digest_of_files(stored_files(directory))


def stored_files(directory: Path) -> dict[str, bytes]:
    """The bytes of every file under ``directory`` by relative path, as
    :func:`artifact_digest` hashes them (so a caller can load what it checked)."""
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.relative_to(directory).as_posix() not in DOWNLOAD_ONLY_FILES
    }


def digest_of_files(contents: dict[str, bytes]) -> tuple[str, dict[str, str]]:
    """The digests of :func:`artifact_digest` for files already read, in the order given
    (:func:`stored_files`'s), which the combined digest depends on."""
    files = {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}
    combined = hashlib.sha256(
        "".join(f"{name}\0{digest}\n" for name, digest in files.items()).encode()
    ).hexdigest()
    return combined, files


def check_recorded_digest(
    settings: Settings, version: str, tags: dict[str, str], local: Path
) -> str:
    """Compare the downloaded files with the hashes recorded in the version's tags."""
    expected = tags.get(MODEL_SHA256_TAG)
    if not expected:
        raise ModelIntegrityError(
            f"model {settings.model_name!r} version {version} has no recorded SHA-256, so its "
            "files cannot be checked; retrain it with `riskengine train`"
        )
    digest, files = artifact_digest(local)
    if digest != expected:
        recorded = json.loads(tags.get(MODEL_FILES_TAG, "{}"))
        changed = sorted(
            name for name in set(files) | set(recorded) if files.get(name) != recorded.get(name)
        )
        raise ModelIntegrityError(
            f"model {settings.model_name!r} version {version} was modified after registration: "
            f"{', '.join(changed) or 'its files'} differ from the SHA-256 recorded at "
            f"registration ({expected[:12]}..., found {digest[:12]}...); refusing to load it. "
            "Restore the artifact or retrain"
        )
    return digest


def check_run_file(
    settings: Settings, version: str, entry: dict[str, Any], name: str, data: bytes
) -> None:
    """Refuse a training-run artifact (``explain.json``) whose bytes differ from the hash the
    version's signed ``entry`` pins."""
    compare(
        settings,
        version,
        "run artifacts",
        {name: entry["run_files"].get(name)},
        {name: hashlib.sha256(data).hexdigest()},
    )


def check_declared_types(settings: Settings, version: str, mlmodel_text: str) -> dict[str, Any]:
    """The MLmodel's ``sklearn`` flavour, refused if it declares a skops type outside
    :data:`SKOPS_TRUSTED_TYPES` (MLflow's own loader would trust what it declares).

    Raises
    ------
    ModelIntegrityError
        Naming the types outside the allow-list, or what is wrong with the MLmodel.
    """
    import yaml

    try:
        flavor = yaml.safe_load(mlmodel_text)["flavors"]["sklearn"]
        flavor["pickled_model"]
    except (yaml.YAMLError, KeyError, TypeError) as error:
        raise ModelIntegrityError(
            f"MLmodel of model {settings.model_name!r} version {version} does not describe a "
            f"scikit-learn model ({type(error).__name__}: {error}); refusing to load it"
        ) from error
    _refuse_extra(settings, version, set(flavor.get("skops_trusted_types") or []))
    return dict(flavor)


def _refuse_extra(settings: Settings, version: str, types: set[str]) -> None:
    extra = sorted(types - set(SKOPS_TRUSTED_TYPES))
    if extra:
        raise ModelIntegrityError(
            f"model {settings.model_name!r} version {version} needs types outside riskengine's "
            f"allow-list: {', '.join(extra)}; refusing to load it"
        )


def check_skops_types(settings: Settings, version: str, local: Path) -> None:
    """Refuse a model whose MLmodel or skops file needs a type outside
    :data:`SKOPS_TRUSTED_TYPES`, or that is not a scikit-learn model in skops format.

    Raises
    ------
    ModelIntegrityError
        Naming the types outside the allow-list, or what is wrong with the files.
    """
    import skops.io

    try:
        mlmodel_text = (local / "MLmodel").read_text()
    except OSError as error:
        raise ModelIntegrityError(
            f"MLmodel of model {settings.model_name!r} version {version} cannot be read "
            f"({error}); refusing to load it"
        ) from error
    model_file = local / check_declared_types(settings, version, mlmodel_text)["pickled_model"]
    try:
        needed = set(skops.io.get_untrusted_types(file=model_file))
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as error:
        raise ModelIntegrityError(
            f"{model_file.name} of model {settings.model_name!r} version {version} is not a "
            f"skops model file (a zip archive): {error}; refusing to load it"
        ) from error
    _refuse_extra(settings, version, needed)


# -- the signed manifest ----------------------------------------------------------------------


def signing_key(settings: Settings, *, create: bool = False) -> bytes:
    """The manifest's HMAC key; with ``create`` a new random one (mode 0600) if none exists.

    Raises
    ------
    ModelIntegrityError
        When the key file is missing (and not to be created), unreadable or not a key.
    """
    path = settings.signing_key
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written aside and linked into place, so a concurrent reader never sees half a key and
        # a concurrent creator's key is never replaced.
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".store-key-")
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            os.link(temporary, path)
            logger.warning(
                "created the model store's signing key %s (mode 0600); scoring needs it to "
                "verify the store, so keep it and give it to whoever scores (or set %s)",
                path,
                SIGNING_KEY_ENV,
            )
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise ModelIntegrityError(
            f"no signing key at {path}: the hashes pinned in {manifest_path(settings)} cannot "
            f"be verified without the key that signed them; copy that key there or set "
            f"{SIGNING_KEY_ENV} to its path"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ModelIntegrityError(f"cannot read the signing key {path}: {error}") from error
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 32:
        raise ModelIntegrityError(f"{path} is not a riskengine signing key (64 hex digits)")
    return key


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"riskengine key id\0" + key).hexdigest()[:16]


def _signature(key: bytes, entry: dict[str, Any]) -> str:
    body = {name: value for name, value in entry.items() if name != "signature"}
    payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def read_manifest(settings: Settings) -> dict[str, Any]:
    """The store's manifest of pinned hashes (empty when there is none yet).

    Raises
    ------
    ModelIntegrityError
        When the file cannot be read or is not a manifest.
    """
    path = manifest_path(settings)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"format": MANIFEST_FORMAT, "versions": {}}
    except (OSError, ValueError) as error:
        raise ModelIntegrityError(
            f"{path}: the store's manifest of pinned hashes cannot be read ({error})"
        ) from error
    if not isinstance(manifest, dict) or not isinstance(manifest.get("versions"), dict):
        raise ModelIntegrityError(f"{path} is not a riskengine manifest of pinned hashes")
    return manifest


def _write_manifest(settings: Settings, manifest: dict[str, Any]) -> None:
    path = manifest_path(settings)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".manifest-")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=1, sort_keys=True)
            handle.write("\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _entry_name(settings: Settings, version: str) -> str:
    return f"{settings.model_name}/{version}"


def pin_version(
    settings: Settings,
    version: str,
    run_id: str,
    *,
    model_files: tuple[str, dict[str, str]],
    run_files: dict[str, str],
    metrics: dict[str, float],
) -> None:
    """Sign and write the manifest entry of ``version``: its files, its run's, its metrics.

    Parameters
    ----------
    model_files
        The combined digest and per-file digests of the model (:func:`artifact_digest`).
    run_files, metrics
        The per-file digests of the run's artifacts and the run's metrics, as stored.
    """
    key = signing_key(settings, create=True)
    digest, files = model_files
    entry: dict[str, Any] = {
        "model_name": settings.model_name,
        "version": version,
        "run_id": run_id,
        "model_sha256": digest,
        "model_files": files,
        "run_files": run_files,
        "metrics": metrics,
        "key_id": _key_id(key),
    }
    entry["signature"] = _signature(key, entry)
    manifest = read_manifest(settings)
    manifest["format"] = MANIFEST_FORMAT
    manifest["versions"][_entry_name(settings, version)] = entry
    _write_manifest(settings, manifest)


def versions_pinning_run(settings: Settings, run_id: str) -> list[str]:
    """The versions whose manifest entry pins run ``run_id`` (not yet verified)."""
    return [
        str(entry["version"])
        for entry in read_manifest(settings)["versions"].values()
        if isinstance(entry, dict) and entry.get("run_id") == run_id
    ]


def verified_entry(settings: Settings, version: str, run_id: str) -> dict[str, Any]:
    """The manifest entry of ``version``, its signature checked and its run matching.

    Raises
    ------
    ModelIntegrityError
        When the entry is missing, signed with another key, does not match its signature, or
        pins another run than the database names.
    """
    path = manifest_path(settings)
    name = settings.model_name
    entry = read_manifest(settings)["versions"].get(_entry_name(settings, version))
    if not isinstance(entry, dict):
        raise ModelIntegrityError(
            f"{path} pins no hashes for model {name!r} version {version} (registered before "
            "riskengine signed its manifest, or the entry was removed); refusing to load it. "
            "Retrain with `riskengine train`"
        )
    key = signing_key(settings)
    if entry.get("key_id") != _key_id(key):
        raise ModelIntegrityError(
            f"{path}: the entry of model {name!r} version {version} was signed with another "
            f"key than {settings.signing_key}; refusing to load it. Use the key that signed it "
            f"({SIGNING_KEY_ENV}) or retrain"
        )
    if not hmac.compare_digest(_signature(key, entry), str(entry.get("signature", ""))):
        raise ModelIntegrityError(
            f"{path}: the entry of model {name!r} version {version} does not match its "
            f"signature under {settings.signing_key} (it was edited without the key); "
            "refusing to load it"
        )
    if entry["run_id"] != run_id:
        raise ModelIntegrityError(
            f"the database names run {run_id} for model {name!r} version {version}, but {path} "
            f"pins run {entry['run_id']}; refusing to load it"
        )
    return entry


def compare(
    settings: Settings, version: str, what: str, pinned: dict[str, Any], found: dict[str, Any]
) -> None:
    """Refuse when ``found`` differs from ``pinned``, naming each difference (the first five)."""

    def shown(value: Any) -> str:
        if value is None:
            return "none"
        # A SHA-256 is recognisable by its first 12 digits; a metric is shown whole.
        return f"{value[:12]}..." if isinstance(value, str) and len(value) == 64 else repr(value)

    changed = sorted(
        name for name in set(pinned) | set(found) if pinned.get(name) != found.get(name)
    )
    if changed:
        details = "; ".join(
            f"{name} (pinned {shown(pinned.get(name))}, found {shown(found.get(name))})"
            for name in changed[:5]
        )
        raise ModelIntegrityError(
            f"model {settings.model_name!r} version {version}: {what} differ from what "
            f"{manifest_path(settings)} pinned at registration: {details}; refusing to load it. "
            "Restore the store from a backup or retrain"
        )


# riskengine moves these aliases itself, and signs where each points; an alias set by other
# means (the MLflow UI) still resolves through the database to a version whose files are checked.
def _alias_name(settings: Settings, alias: str) -> str:
    return f"{settings.model_name}@{alias}"


def pin_alias(settings: Settings, alias: str, version: str | None) -> None:
    """Sign where ``alias`` points (``None``: nowhere) in the manifest, before the database
    moves it: a failure in between leaves the two apart, which loading refuses."""
    key = signing_key(settings)
    manifest = read_manifest(settings)
    aliases = manifest.setdefault("aliases", {})
    if version is None:
        aliases.pop(_alias_name(settings, alias), None)
    else:
        record: dict[str, Any] = {
            "model_name": settings.model_name,
            "alias": alias,
            "version": version,
            "key_id": _key_id(key),
        }
        record["signature"] = _signature(key, record)
        aliases[_alias_name(settings, alias)] = record
    _write_manifest(settings, manifest)


def check_alias(settings: Settings, alias: str, version: str) -> None:
    """Refuse unless the signed record of ``alias`` points at ``version``, as the database does.

    Raises
    ------
    ModelIntegrityError
        When the record is missing, signed with another key, altered, or names another version.
    """
    path = manifest_path(settings)
    name = settings.model_name
    record = read_manifest(settings).get("aliases", {}).get(_alias_name(settings, alias))
    if not isinstance(record, dict):
        raise ModelIntegrityError(
            f"{path} pins no version for the alias {alias!r} of model {name!r}: it was set "
            f"outside riskengine; refusing to load it. Set it with `riskengine model promote`"
        )
    key = signing_key(settings)
    if record.get("key_id") != _key_id(key) or not hmac.compare_digest(
        _signature(key, record), str(record.get("signature", ""))
    ):
        raise ModelIntegrityError(
            f"{path}: the record of the alias {alias!r} of model {name!r} does not match its "
            f"signature under {settings.signing_key}; refusing to load it"
        )
    if record.get("version") != version:
        raise ModelIntegrityError(
            f"the database points the alias {alias!r} of model {name!r} at version {version}, "
            f"but {path} pins version {record.get('version')}; refusing to load it. Move it "
            "with `riskengine model promote` or `model rollback`"
        )


def missing_pin(settings: Settings, version: str, alias: str | None = None) -> str | None:
    """Why the manifest cannot vouch for ``version`` (reached through ``alias``, if given)
    because it has no entry (or no alias record) at all, or ``None``.

    A present but altered entry is not missing: :func:`verified_entry` says what was altered.
    """
    manifest = read_manifest(settings)
    if _entry_name(settings, version) not in manifest["versions"]:
        return f"version {version} has no hashes pinned in {manifest_path(settings).name}"
    if alias is not None and _alias_name(settings, alias) not in manifest.get("aliases", {}):
        return f"the alias {alias!r} is not pinned in {manifest_path(settings).name}"
    return None
