<?php
setcookie('flavour', 'oatmeal', ['path' => '/', 'httponly' => true]);
echo "cookie set\n";
