from srllm.cli import main

main()
