// Shell completion: `spillway completion bash` prints a script (zsh: load bashcompinit first).
// Service, endpoint and node names come from the running Spillway through `spillway __complete`,
// which prints nothing when the admin port cannot be reached.
import { ADMIN_VERBS, flagsOf } from './args.js';

/** Verbs and their flags outside the admin verbs. */
const OTHER_VERBS: Record<string, string[]> = {
  serve: ['--config'],
  validate: ['--config', '--output'],
  watch: ['--admin', '--service', '--plain', '--output', '--token-env'],
  completion: [],
};

/** Flags that take no value (everything else takes the next word). */
const SWITCHES = ['--plain', '--help'];

export function bashCompletion(): string {
  const verbs = [...Object.keys(OTHER_VERBS), ...ADMIN_VERBS];
  const flagCases = [
    ...Object.entries(OTHER_VERBS).map(([v, f]) => `    ${v}) flags="${f.join(' ')}" ;;`),
    ...ADMIN_VERBS.map((v) => `    ${v}) flags="${flagsOf(v).join(' ')}" ;;`),
  ].join('\n');
  return `# bash completion for spillway; zsh: autoload -U +X bashcompinit && bashcompinit first.
# Install: spillway completion bash > /etc/bash_completion.d/spillway  (or: source <(spillway completion bash))
_spillway() {
  local cur prev verb flags i n=0
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  verb="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${verbs.join(' ')} --help" -- "$cur")); return
  fi
  case "$prev" in
    --output|-o) COMPREPLY=($(compgen -W "table json" -- "$cur")); return ;;
    --config|-c) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --node) COMPREPLY=($(compgen -W "$(spillway __complete nodes 2>/dev/null)" -- "$cur")); return ;;
    --service) COMPREPLY=($(compgen -W "$(spillway __complete services 2>/dev/null)" -- "$cur")); return ;;
    --token-env) COMPREPLY=($(compgen -v -- "$cur")); return ;;
    --admin|--reason|--share|--for) return ;;
  esac
  case "$verb" in
${flagCases}
    *) flags="" ;;
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur")); return; fi
  # The how-manieth positional argument is being typed (flag values skipped).
  for ((i = 2; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${SWITCHES.join('|')}) ;;
      -*) ((i++)) ;;
      *) ((n++)) ;;
    esac
  done
  case "$verb" in
    completion) [ "$n" -eq 0 ] && COMPREPLY=($(compgen -W "bash" -- "$cur")) ;;
    cordon|soft-cordon|uncordon)
      if [ "$n" -eq 0 ]; then COMPREPLY=($(compgen -W "$(spillway __complete services 2>/dev/null)" -- "$cur"))
      elif [ "$n" -eq 1 ]; then
        local svc="" j
        for ((j = 2; j < COMP_CWORD; j++)); do case "\${COMP_WORDS[j]}" in -*) ((j++)) ;; *) svc="\${COMP_WORDS[j]}"; break ;; esac; done
        COMPREPLY=($(compgen -W "$(spillway __complete endpoints "$svc" 2>/dev/null)" -- "$cur"))
      fi ;;
    override|clear-override) [ "$n" -eq 0 ] && COMPREPLY=($(compgen -W "$(spillway __complete services 2>/dev/null)" -- "$cur")) ;;
  esac
}
complete -F _spillway spillway
`;
}
