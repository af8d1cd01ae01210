export function backendLabel(backend: 'keychain' | 'file'): string {
  return backend === 'keychain' ? 'the OS keychain' : 'the encrypted secrets file';
}
