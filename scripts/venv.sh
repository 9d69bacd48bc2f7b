# Sourced by scripts/test and scripts/sapa: make (once) and enter .venv, install the project.
# A stock Debian/Ubuntu Python has no ensurepip without python3-venv: install it when missing.
sapa_venv() {
    local extras="$1"
    local py="${PYTHON:-python3}"
    if [ ! -x .venv/bin/python ]; then
        if ! "$py" -m venv .venv >/dev/null 2>&1; then
            rm -rf .venv
            echo "installing python3-venv with apt-get"
            local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
            $sudo apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
            "$py" -m venv .venv
        fi
    fi
    # shellcheck disable=SC1091
    . .venv/bin/activate
    local stamp=".venv/.installed-$(cat pyproject.toml | sha1sum | cut -c1-12)-${extras//[^a-z]/}"
    if [ ! -f "$stamp" ]; then
        python -m pip install -q --upgrade pip >/dev/null
        python -m pip install -q -e "$extras"
        touch "$stamp"
    fi
}
