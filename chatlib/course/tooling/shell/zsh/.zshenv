# zsh reads its start-up files from $ZDOTDIR, which `chatlib lab` points here for JupyterLab's
# terminals. First your own .zshenv, from your own folder; .zshrc (next to this file) follows.
if [ -f "${CHATLIB_USER_ZDOTDIR:-$HOME}/.zshenv" ]; then
    . "${CHATLIB_USER_ZDOTDIR:-$HOME}/.zshenv"
fi
