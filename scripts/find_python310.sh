#!/usr/bin/env bash
# Print the path of a working Python 3.10 (Rasa 3.6 needs < 3.11).
# pyenv shims exist even when 3.10 is not the active version, so each candidate is run.
set -u
for candidate in "${PYTHON310:-}" python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do
  [ -n "$candidate" ] || continue
  if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; then
    "$candidate" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
echo "Python 3.10 introuvable : installez-le (pyenv install 3.10) ou indiquez PYTHON310=/chemin/python3.10" >&2
exit 1
