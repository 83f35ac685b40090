# JupyterLab's terminal under `chatlib lab`, in zsh: your own .zshrc runs first, as in any
# terminal; then the course's Python goes first on PATH (a .zshrc that sets up pyenv or conda
# puts their python first). From here on, zsh reads your folder again, as it always does.
ZDOTDIR="${CHATLIB_USER_ZDOTDIR:-$HOME}"
if [ -f "$ZDOTDIR/.zshrc" ]; then
    . "$ZDOTDIR/.zshrc"
fi
if [ -n "${CHATLIB_COURSE_BIN:-}" ]; then
    export PATH="$CHATLIB_COURSE_BIN:$PATH"
fi
