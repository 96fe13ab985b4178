// Render GnuSpeech (articulatory synthesis) for training: one JSON request per stdin line,
// {"text", "voice", "tempo", "out"}; writes a WAV to "out" and answers "ok" (or the error).
import { writeFile } from 'fs/promises'
import { createInterface } from 'readline'
import { synthesize } from '@echogarden/gnuspeech-wasm'

const lines = createInterface({ input: process.stdin })
for await (const line of lines) {
  try {
    const request = JSON.parse(line)
    const { audioData } = await synthesize(request.text, { voice: request.voice, tempo: request.tempo })
    await writeFile(request.out, audioData)
    process.stdout.write('ok\n')
  } catch (error) {
    process.stdout.write(String(error).replace(/\n/g, ' ') + '\n')
  }
}
