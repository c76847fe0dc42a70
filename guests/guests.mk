guests: ; @true
